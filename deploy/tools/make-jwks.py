"""Print the public JWK Set of an EHR key, for CDS_TRUSTED_ISSUERS (docs/integrator-guide.md, §3).

    python deploy/tools/make-jwks.py ehr-es384.pub.pem > jwks.json

Accepts a PEM public (or private: only the public part is printed) EC P-384 or RSA key. The `kid`
is the key's RFC 7638 thumbprint: the EHR must put the same `kid` in its JWT headers.
Needs `joserfc` (a dependency of baclofen-cds).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from joserfc.jwk import ECKey, RSAKey


def jwks_for(pem: bytes) -> dict[str, list[dict[str, object]]]:
    key: ECKey | RSAKey
    try:
        key = ECKey.import_key(pem)
        alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[key.curve_name]
    except Exception:
        key = RSAKey.import_key(pem)
        alg = "RS384"
    public = key.as_dict(private=False, kid=key.thumbprint())
    public.update({"use": "sig", "alg": alg})
    return {"keys": [public]}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(jwks_for(Path(argv[0]).read_bytes()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
