"""The requests transport's own parts: bounded body reads, its exception flavour, mounting
on every spelling of the host, and install() for code without a Session."""
