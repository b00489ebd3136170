//! Charts and HTML report (issue 6, not yet built).
