//! Just enough ARN parsing to name a resource for a person. ARNs are treated as opaque
//! otherwise: AWS Backup ids may contain slashes (`aws/efs/automatic-backup-vault`).

/// The parts of `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// A short, human name for a resource ARN: `i-0abc` for an instance, `orders` for a table,
/// `prod-db` for an RDS database, the bucket for S3. Falls back to the input when it is not an
/// ARN, so a caller always has something to print.
pub fn short_name(arn: &str) -> &str {
    let Some(parsed) = Arn::parse(arn) else { return arn };
    let resource = parsed.resource;
    // `table/orders/backup/…` and `file-system/fs-1`: the name follows the first separator.
    let after_type = match resource.find(['/', ':']) {
        Some(i) => &resource[i + 1..],
        None => return resource,
    };
    let name = after_type.split(['/', ':']).next().unwrap_or(after_type);
    if name.is_empty() { resource } else { name }
}

/// The last segment of a vault ARN (`…:backup-vault:Default` → `Default`).
pub fn vault_name(vault_arn: &str) -> &str {
    match Arn::parse(vault_arn) {
        Some(arn) => arn.resource.strip_prefix("backup-vault:").unwrap_or(arn.resource),
        None => vault_arn,
    }
}

/// A readable noun for an AWS Backup resource type: "RDS database", "EBS volume".
pub fn resource_noun(resource_type: &str) -> String {
    match resource_type {
        "EC2" => "EC2 instance".into(),
        "EBS" => "EBS volume".into(),
        "RDS" => "RDS database".into(),
        "Aurora" => "Aurora cluster".into(),
        "DocumentDB" => "DocumentDB cluster".into(),
        "Neptune" => "Neptune cluster".into(),
        "DynamoDB" => "DynamoDB table".into(),
        "EFS" => "EFS file system".into(),
        "FSx" => "FSx file system".into(),
        "S3" => "S3 bucket".into(),
        "Redshift" => "Redshift cluster".into(),
        "" => "resource".into(),
        other => format!("{other} resource"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_for_each_common_resource_type() {
        assert_eq!(
            short_name("arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc"),
            "i-0abc"
        );
        assert_eq!(short_name("arn:aws:ec2:eu-west-1:111122223333:volume/vol-1"), "vol-1");
        assert_eq!(
            short_name("arn:aws:rds:eu-west-1:111122223333:db:prod-orders"),
            "prod-orders"
        );
        assert_eq!(
            short_name("arn:aws:rds:eu-west-1:111122223333:cluster:aurora-main"),
            "aurora-main"
        );
        assert_eq!(
            short_name("arn:aws:dynamodb:eu-west-1:111122223333:table/orders"),
            "orders"
        );
        assert_eq!(
            short_name("arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-12"),
            "fs-12"
        );
        assert_eq!(short_name("arn:aws:s3:::invoices-bucket"), "invoices-bucket");
    }

    #[test]
    fn short_name_of_something_that_is_not_an_arn_is_itself() {
        assert_eq!(short_name("not-an-arn"), "not-an-arn");
        assert_eq!(short_name(""), "");
    }

    #[test]
    fn vault_names_keep_slashes() {
        assert_eq!(
            vault_name("arn:aws:backup:eu-west-1:111122223333:backup-vault:aws/efs/automatic-backup-vault"),
            "aws/efs/automatic-backup-vault"
        );
        assert_eq!(
            vault_name("arn:aws:backup:eu-west-1:111122223333:backup-vault:Default"),
            "Default"
        );
    }

    #[test]
    fn parse_splits_partition_and_account() {
        let arn = Arn::parse("arn:aws-cn:rds:cn-north-1:111122223333:db:x").unwrap();
        assert_eq!(
            (arn.partition, arn.account, arn.resource),
            ("aws-cn", "111122223333", "db:x")
        );
        assert_eq!(Arn::parse("arn:aws:s3"), None);
    }
}
