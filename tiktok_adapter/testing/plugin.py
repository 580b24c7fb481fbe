"""The pytest plugin that gives users a ``fake_tiktok`` fixture."""
