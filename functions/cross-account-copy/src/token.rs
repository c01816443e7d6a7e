//! The `IdempotencyToken` of a copy: the same recovery point and destination vault always give
//! the same token, so duplicate events (and Lambda's retries) never start a second copy job.

use uuid::Uuid;

/// Rearguard's UUID namespace for copy tokens (a fixed, random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6c2f_7a0e_93d4_4b8e_a1c5_2f9e_0b7d_4e31);

/// A name-based (version 5) UUID of the pair.
pub fn copy_token(recovery_point_arn: &str, destination_vault_arn: &str) -> String {
    let name = format!("{recovery_point_arn}\n{destination_vault_arn}");
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "arn:aws:ec2:eu-west-1::snapshot/snap-0a1b2c3d4e5f60718";
    const VAULT: &str = "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated";

    #[test]
    fn the_same_pair_gives_the_same_token() {
        assert_eq!(copy_token(POINT, VAULT), copy_token(POINT, VAULT));
        assert_eq!(copy_token(POINT, VAULT).len(), 36);
    }

    #[test]
    fn another_destination_or_point_gives_another_token() {
        let other_vault = "arn:aws:backup:us-west-2:111122223333:backup-vault:dr";
        assert_ne!(copy_token(POINT, VAULT), copy_token(POINT, other_vault));
        assert_ne!(copy_token(POINT, VAULT), copy_token(&format!("{POINT}9"), VAULT));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(copy_token("ab", "c"), copy_token("a", "bc"));
    }
}
