"""dmodel: discovery data in, a normalized and evolvable Cloudflare D1 schema out."""

__version__ = "0.1.0"
