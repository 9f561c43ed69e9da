"""SAML single sign-on: per-org identity providers, JIT provisioning, policy, SSO doctor."""
