//! The balancer (see mod docs once written).
