"""The hub's conformance kit on the RESO connector, against its sandbox."""

from prophub_reso import plugin

from hub.conformance import conformance_tests

# Five pages of listings, more than one office: every declared read is checked in full.
TestResoConformance = conformance_tests(plugin, size=120, page_size=25)
