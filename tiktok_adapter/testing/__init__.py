"""Offline stand-ins for the TikTok API, for tests and demos."""
