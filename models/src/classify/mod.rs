//! Classifiers trained on the district's own history (linfa): the escalation model and the
//! text category classifier.

pub mod escalation;
pub mod textcat;
