"""baclofen-cds: a CDS Hooks 2.0 service for the ANSM baclofen RTU in alcohol dependence."""

__version__ = "0.1.0"
