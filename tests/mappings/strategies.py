"""Hypothesis strategies for canonical records that a vendor can hold."""

from __future__ import annotations

from hypothesis import strategies as st

from hub.models import US_STATES, Address

names = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'-", min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s.strip("'-"))
words = (
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ",
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
emails = st.builds(
    lambda user, host: f"{user}@{host}.com",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10),
)
zips = st.from_regex(r"\A\d{5}(-\d{4})?\Z")
addresses = st.builds(
    Address, line1=words, city=words, state=st.sampled_from(sorted(US_STATES)), postal_code=zips
)
