"""The version of s2s, in one place: the package, the headers of generated modules
and the cache keys read it."""

VERSION = "0.1.0"
