"""OAuth 2.0 / OpenID Connect providers: one small module each."""
