//! Prints the policy document's JSON Schema: `cargo run -p rearguard-shared --example policy-schema > policy.schema.json`.

fn main() {
    print!("{}", rearguard::policy::json_schema());
}
