//! When an alert email may go (issue 4): quiet hours in the user's time zone, daily cap, minimum gap, digests and priorities. Pure.
