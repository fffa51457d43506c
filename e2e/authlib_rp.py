"""A relying party on Authlib (Python), for e2e/authlib.test.mjs: discovery, the code flow with
PKCE and a nonce, the id_token checked by Authlib's CodeIDToken (signature against the JWKS,
iss, aud, nonce, at_hash), then /userinfo. Configured by PASSFLOW_ISSUER, CLIENT_ID,
CLIENT_SECRET and RP_PORT; prints its URL on the first line of stdout once it listens."""

import html
import json
import os
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

ISSUER = os.environ["PASSFLOW_ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
METADATA = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
assert METADATA["issuer"] == ISSUER, METADATA
PENDING = {}


def session(redirect_uri):
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


class Handler(BaseHTTPRequestHandler):
    def page(self, body):
        data = f"<!doctype html>{body}".encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        url = urlparse(self.path)
        try:
            if url.path == "/":
                verifier = secrets.token_urlsafe(48)
                nonce = secrets.token_urlsafe(16)
                client = session(f"{base}/callback")
                location, state = client.create_authorization_url(
                    METADATA["authorization_endpoint"], code_verifier=verifier, nonce=nonce
                )
                PENDING[state] = (verifier, nonce)
                return self.page(f'<a id="sign-in" href="{html.escape(location)}">Sign in</a>')
            if url.path == "/callback":
                query = parse_qs(url.query)
                state = query["state"][0]
                verifier, nonce = PENDING.pop(state)
                assert query["iss"][0] == ISSUER, query
                client = session(f"{base}/callback")
                client.state = state
                token = client.fetch_token(
                    METADATA["token_endpoint"],
                    authorization_response=f"{base}{self.path}",
                    code_verifier=verifier,
                )
                jwks = JsonWebKey.import_key_set(
                    requests.get(METADATA["jwks_uri"], timeout=10).json()
                )
                claims = jwt.decode(
                    token["id_token"],
                    jwks,
                    claims_cls=CodeIDToken,
                    claims_options={
                        "iss": {"essential": True, "value": ISSUER},
                        "aud": {"essential": True, "value": CLIENT_ID},
                    },
                    claims_params={"nonce": nonce, "access_token": token["access_token"]},
                )
                claims.validate()
                info = client.get(METADATA["userinfo_endpoint"]).json()
                assert info["sub"] == claims["sub"], (info, claims)
                result = {"claims": dict(claims), "userinfo": info, "scope": token["scope"]}
                return self.page(
                    f'<h1 id="greeting">Signed in as {html.escape(info["preferred_username"])}</h1>'
                    f'<pre id="result">{html.escape(json.dumps(result))}</pre>'
                )
            self.send_response(404)
            self.end_headers()
        except Exception as error:  # shown to the test, which fails on it
            self.page(f'<h1 id="error">{html.escape(type(error).__name__)}: {html.escape(str(error))}</h1>')

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["RP_PORT"])), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()
