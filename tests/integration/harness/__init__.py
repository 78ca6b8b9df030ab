"""Helpers for the smtpshim integration tests: certificates, servers, clients."""
