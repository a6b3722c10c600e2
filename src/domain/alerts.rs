//! Alert rules (issue 4): which alerts a goal's new evaluation raises, each exactly once. Pure.
