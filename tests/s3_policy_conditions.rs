//! Issue 23: bucket-policy conditions about the request and the object
//! (`s3:ExistingObjectTag/…`, `s3:RequestObjectTagKeys`, `s3:x-amz-acl`,
//! `s3:x-amz-copy-source`), DeleteObjects of many keys (one commit, each
//! key its own resource to the policy, conditional keys on their own),
//! SigV2-signed requests to a bucket alone, and a browser form failing its
//! policy's condition, through unmodified boto3. Each
//! expectation is S3's documented behaviour written here, not a value our
//! code computed.

use crate::support;

use serde_json::{Value, json};
use support::serve::{DEV, OTHER, Serve};
use support::{have_python_module, python};

const PRELUDE: &str = support::boto3_script!();
const SCENARIO: &str = include_str!("clients/boto3_policy_conditions.py");

#[test]
fn boto3_policy_conditions_batch_deletes_and_sigv2_bucket_requests() {
    let test = "boto3_policy_conditions_batch_deletes_and_sigv2_bucket_requests";
    if !have_python_module(test, "boto3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dev = format!("{}:{}:{}", DEV.0, DEV.1, DEV.2);
    let other = format!("{}:{}:{}", OTHER.0, OTHER.1, OTHER.2);
    let serve = Serve::start(dir.path(), &["--user", &dev, "--user", &other]);
    let script = format!("{PRELUDE}{SCENARIO}\nprint(json.dumps(out))\n");
    let out: Value = serde_json::from_str(python(&script, &[&serve.endpoint()]).trim()).unwrap();
    let denied = json!([403, "AccessDenied"]);
    // s3:ExistingObjectTag/security = public: the tagged object only, and
    // the condition follows the object's tags.
    assert_eq!(out["get"], json!([null, denied, denied]));
    assert_eq!(out["get_retagged"], json!(null));
    // Tags required (Null … false), only the key `security`
    // (ForAllValues:), and an explicit Deny on a public canned ACL; a key
    // outside the statement's resource is not granted.
    assert_eq!(
        out["put"],
        json!([null, denied, denied, denied, denied]),
        "{out}"
    );
    // An explicit Deny holds for the bucket owner too.
    assert_eq!(out["owner_public"], denied);
    // s3:x-amz-copy-source: copies from conds/public* only.
    assert_eq!(out["copy"], json!([null, denied, denied]));
    // DeleteObjects: 120 deleted, the two outside `mine/*` refused each.
    let mine: Vec<String> = (0..120).map(|i| format!("mine/{i:03}")).collect();
    assert_eq!(out["deleted"], json!(mine));
    assert_eq!(
        out["refused"],
        json!([["theirs/1", "AccessDenied"], ["theirs/2", "AccessDenied"]])
    );
    assert_eq!(out["left"], json!([0, ["theirs/1", "theirs/2"]]));
    // A key whose ETag does not match is refused; a missing key counts as
    // deleted.
    assert_eq!(
        out["conditional"],
        json!([[["mine/cond", "PreconditionFailed"]], ["mine/missing"]])
    );
    // A versioned bucket: a delete marker each, the versions kept.
    assert_eq!(out["markers"], json!([[true, true]]));
    assert_eq!(out["versions"], json!([30, 30, 0]));
    assert_eq!(out["never"], json!([]));
    // SigV2: bucket requests pass, a wrong secret still fails.
    assert_eq!(out["v2"], json!([null, null, null, null]));
    assert_eq!(
        out["v2_wrong_secret"],
        json!([403, "SignatureDoesNotMatch"])
    );
    // A form whose policy condition fails: 403 AccessDenied, "Invalid
    // according to Policy" (S3's words); one that meets it is taken.
    assert_eq!(out["form_ok"], json!(204));
    assert_eq!(out["form_failed"], json!([403, true, true]));
}
