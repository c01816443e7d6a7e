//! The decision for one restore test: the validation result to put, and whether the drill
//! passed. Pure.
//!
//! | restore job | restored resource | figures vs targets | validation result | drill  | alert |
//! |-------------|-------------------|--------------------|-------------------|--------|-------|
//! | FAILED, ABORTED | -             | -                  | none (nothing to validate) | failed | ERROR |
//! | COMPLETED   | usable            | within             | SUCCESSFUL        | passed | -     |
//! | COMPLETED   | usable            | missed             | SUCCESSFUL        | failed | ERROR |
//! | COMPLETED   | not usable        | any                | FAILED, the reason | failed | ERROR |
//! | COMPLETED   | type not validated | any               | none              | unvalidated | - (logged, counted) |
//!
//! AWS accepts FAILED, SUCCESSFUL, TIMED_OUT and VALIDATING ("PutRestoreValidationResult");
//! there is no "skipped", so a type without a validation gets no result rather than a false one.

use crate::checks::{Check, Outcome};

/// The `ValidationStatus` values this function puts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStatus {
    Successful,
    Failed,
}

impl ValidationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationStatus::Successful => "SUCCESSFUL",
            ValidationStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub status: ValidationStatus,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed,
    /// The restore failed, the resource is not usable, or a target was missed.
    Failed {
        reasons: Vec<String>,
    },
    /// Restored, but no validation exists for its type.
    Unvalidated {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub validation: Option<Validation>,
    pub verdict: Verdict,
}

/// A restore test whose restore job did not complete.
pub fn restore_failed(reason: &str) -> Decision {
    Decision {
        validation: None,
        verdict: Verdict::Failed {
            reasons: vec![format!("the restore failed: {reason}")],
        },
    }
}

/// A restore test that restored a resource: judged by its check's outcome and the targets.
pub fn restored(check: &Check, outcome: &Outcome, missed: &[String]) -> Decision {
    if let Check::Unsupported { reason } = check {
        return Decision {
            validation: None,
            verdict: Verdict::Unvalidated { reason: reason.clone() },
        };
    }
    match outcome {
        Outcome::Unusable(reason) => Decision {
            validation: Some(Validation {
                status: ValidationStatus::Failed,
                message: reason.clone(),
            }),
            verdict: Verdict::Failed {
                reasons: std::iter::once(reason.clone()).chain(missed.iter().cloned()).collect(),
            },
        },
        Outcome::Usable(evidence) => {
            // The data is restorable whatever the figures: the validation says so, the drill
            // fails on a missed target.
            let message = if missed.is_empty() {
                evidence.clone()
            } else {
                format!("{evidence}; {}", missed.join("; "))
            };
            Decision {
                validation: Some(Validation {
                    status: ValidationStatus::Successful,
                    message,
                }),
                verdict: if missed.is_empty() {
                    Verdict::Passed
                } else {
                    Verdict::Failed {
                        reasons: missed.to_vec(),
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Check {
        Check::DynamoDbTable { table: "t".into() }
    }

    #[test]
    fn a_usable_restore_within_targets_passes_and_validates_successful() {
        let d = restored(&table(), &Outcome::Usable("table t is ACTIVE".into()), &[]);
        assert_eq!(d.verdict, Verdict::Passed);
        assert_eq!(
            d.validation,
            Some(Validation {
                status: ValidationStatus::Successful,
                message: "table t is ACTIVE".into()
            })
        );
    }

    #[test]
    fn an_unusable_restore_validates_failed_with_the_reason() {
        let d = restored(&table(), &Outcome::Unusable("table t is ACTIVE but empty".into()), &[]);
        assert_eq!(d.validation.as_ref().unwrap().status, ValidationStatus::Failed);
        assert_eq!(d.validation.unwrap().message, "table t is ACTIVE but empty");
        assert_eq!(
            d.verdict,
            Verdict::Failed {
                reasons: vec!["table t is ACTIVE but empty".into()]
            }
        );
    }

    #[test]
    fn a_missed_target_fails_the_drill_but_not_the_validation() {
        let missed = vec!["RPO 30.0 h is over the plan's 24 h".to_string()];
        let d = restored(&table(), &Outcome::Usable("ok".into()), &missed);
        assert_eq!(d.validation.as_ref().unwrap().status, ValidationStatus::Successful);
        assert!(d.validation.unwrap().message.contains("RPO 30.0 h"));
        assert_eq!(d.verdict, Verdict::Failed { reasons: missed });
    }

    #[test]
    fn a_type_without_a_validation_gets_no_result() {
        let check = Check::Unsupported {
            reason: "no validation for type FSx".into(),
        };
        let d = restored(&check, &Outcome::Unusable("no validation for type FSx".into()), &[]);
        assert_eq!(d.validation, None);
        assert_eq!(
            d.verdict,
            Verdict::Unvalidated {
                reason: "no validation for type FSx".into()
            }
        );
    }

    #[test]
    fn a_failed_restore_puts_nothing_and_fails_the_drill() {
        let d = restore_failed("Access denied");
        assert_eq!(d.validation, None);
        assert_eq!(
            d.verdict,
            Verdict::Failed {
                reasons: vec!["the restore failed: Access denied".into()]
            }
        );
    }
}
