//! The `IdempotencyToken` of a copy: the same backup and destination vault always give the same
//! token, so duplicate events (and Lambda's retries) never start a second copy job; another backup
//! gives another token even when its recovery point ARN is the same.

use uuid::Uuid;

/// Rearguard's UUID namespace for copy tokens (a fixed, random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6c2f_7a0e_93d4_4b8e_a1c5_2f9e_0b7d_4e31);

/// A name-based (version 5) UUID of the recovery point, the destination and the job that made the
/// recovery point arrive (`backup_id`: its job id, or its completion time). A continuous recovery
/// point keeps its ARN from day to day, and StartCopyJob answers a token it has seen with the
/// earlier job ("successful with no action", API `StartCopyJob`, `IdempotencyToken`), so the
/// ARN alone would copy such a point only once.
pub fn copy_token(recovery_point_arn: &str, destination_vault_arn: &str, backup_id: &str) -> String {
    let name = format!("{recovery_point_arn}\n{destination_vault_arn}\n{backup_id}");
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "arn:aws:ec2:eu-west-1::snapshot/snap-0a1b2c3d4e5f60718";
    const VAULT: &str = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";
    const JOB: &str = "C0FFEE11-2A3B-4C5D-8E9F-0A1B2C3D4E5F";

    #[test]
    fn the_same_backup_and_destination_give_the_same_token() {
        assert_eq!(copy_token(POINT, VAULT, JOB), copy_token(POINT, VAULT, JOB));
        assert_eq!(copy_token(POINT, VAULT, JOB).len(), 36);
    }

    #[test]
    fn another_destination_point_or_backup_gives_another_token() {
        let other_vault = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
        assert_ne!(copy_token(POINT, VAULT, JOB), copy_token(POINT, other_vault, JOB));
        assert_ne!(
            copy_token(POINT, VAULT, JOB),
            copy_token(&format!("{POINT}9"), VAULT, JOB)
        );
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(copy_token("ab", "c", JOB), copy_token("a", "bc", JOB));
    }

    #[test]
    fn a_continuous_point_backed_up_again_gets_a_new_token() {
        let continuous = "arn:aws:backup:eu-west-1:111122223333:recovery-point:continuous:db-ABC-1a2b";
        assert_ne!(
            copy_token(continuous, VAULT, "job-monday"),
            copy_token(continuous, VAULT, "job-tuesday")
        );
    }
}
