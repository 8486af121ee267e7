/**
 * A self-signed certificate for localhost and its key (EC P-256, valid until 2126), for
 * tests that need an https server whose certificate nobody trusts, as a dev server's.
 * Made with: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj /CN=localhost
 */
export const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWMynoYM/afzTc5Bq
6Z3my6poALgn+0VRMn8RZe/jYCShRANCAATAuLt5K5C20YRP8ft7r9J65z0ZCv13
+AphIyk5H+qKGy3sXfY90rzGPJMwNj2eRitjilfFxA5pzLT8e1K0sQiK
-----END PRIVATE KEY-----
`;
export const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUC4N+oHDXLOHjTXwLHuPqQMnDGSYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzAzMzQxM1oYDzIxMjYxMTEz
MDMzNDEzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATAuLt5K5C20YRP8ft7r9J65z0ZCv13+AphIyk5H+qKGy3sXfY90rzG
PJMwNj2eRitjilfFxA5pzLT8e1K0sQiKo1MwUTAdBgNVHQ4EFgQUkji7wn7xk5jq
nl5WVtomJZMrsdYwHwYDVR0jBBgwFoAUkji7wn7xk5jqnl5WVtomJZMrsdYwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA6wS6W6eo4jP7RR5CBft4
mvrRCy2CezcE0nTI4vJrnY8CIQCEaALUgBsuoOYX9bcPeEkz2oX3af8H1c42q4dL
6s0fUw==
-----END CERTIFICATE-----
`;
