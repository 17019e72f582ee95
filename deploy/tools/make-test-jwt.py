"""Sign one CDS Hooks 2.0 JWT with the EHR's private key, to test the set-up end to end.

    python deploy/tools/make-test-jwt.py KEY.pem ISSUER AUDIENCE [--sub CLIENT_ID] [--ttl SECONDS]

    TOKEN=$(python deploy/tools/make-test-jwt.py ehr-es384.key.pem \\
              https://ehr.hospital.example/ https://cds.hospital.example/cds-services)
    curl -fsS -H "Authorization: Bearer $TOKEN" https://cds.hospital.example/cds-services

AUDIENCE is the exact URL called. Each run makes a new `jti`: a token is good for one call only.
For tests: the private key belongs to the EHR and should not leave it. Needs `joserfc`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


def make_token(pem: bytes, issuer: str, audience: str, sub: str, ttl: int) -> str:
    key: ECKey | RSAKey
    try:
        key = ECKey.import_key(pem)
        alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[key.curve_name]
    except Exception:
        key = RSAKey.import_key(pem)
        alg = "RS384"
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    header = {"alg": alg, "typ": "JWT", "kid": key.thumbprint()}
    return jwt.encode(header, claims, key, algorithms=[alg])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("key", type=Path, help="PEM private key of the EHR (EC P-384 or RSA)")
    parser.add_argument("issuer", help="iss: the issuer as listed in CDS_TRUSTED_ISSUERS")
    parser.add_argument("audience", help="aud: the exact URL that will be called")
    parser.add_argument("--sub", default="ehr-test-client", help="sub: the EHR's client id")
    parser.add_argument("--ttl", type=int, default=300, help="seconds until exp (<= 300)")
    args = parser.parse_args(argv)
    print(make_token(args.key.read_bytes(), args.issuer, args.audience, args.sub, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
