"""The profile stage: an exploratory report of a data set, with warnings about its quirks.

``profile_frame`` computes a ``Profile`` (statistics, correlations, findings);
``render_profile`` turns it into one self-contained HTML file.
"""

from loopml.profile.profile import Profile, profile_frame
from loopml.profile.report import render_profile
from loopml.profile.warnings import Finding

__all__ = ["Finding", "Profile", "profile_frame", "render_profile"]
