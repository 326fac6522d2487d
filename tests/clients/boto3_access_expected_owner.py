# A scenario's steps: runs after tests/clients/boto3_prelude.py (tests/s3_access.rs, run).
dev.create_bucket(Bucket="eob", ACL="public-read-write")
dev.create_bucket(Bucket="eob-gone")
dev.put_object(Bucket="eob", Key="k", Body=b"v", ACL="public-read")
ops = [
    # The case: anonymous, in a public-read-write bucket.
    ("ListObjects", lambda o: anon.list_objects(Bucket="eob", ExpectedBucketOwner=o)),
    ("ListObjectsV2", lambda o: anon.list_objects_v2(Bucket="eob", ExpectedBucketOwner=o)),
    ("PutObject", lambda o: anon.put_object(Bucket="eob", Key="w", Body=b"w", ExpectedBucketOwner=o)),
    ("GetObject", lambda o: anon.get_object(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("HeadObject", lambda o: anon.head_object(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("HeadBucket", lambda o: dev.head_bucket(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketAcl", lambda o: dev.get_bucket_acl(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetObjectAcl", lambda o: dev.get_object_acl(Bucket="eob", Key="k", ExpectedBucketOwner=o)),
    ("PutObjectTagging", lambda o: dev.put_object_tagging(Bucket="eob", Key="k",
        Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}, ExpectedBucketOwner=o)),
    ("GetBucketTagging", lambda o: dev.get_bucket_tagging(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetPublicAccessBlock", lambda o: dev.get_public_access_block(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketOwnershipControls", lambda o: dev.get_bucket_ownership_controls(Bucket="eob", ExpectedBucketOwner=o)),
    ("GetBucketPolicyStatus", lambda o: dev.get_bucket_policy_status(Bucket="eob", ExpectedBucketOwner=o)),
    ("CopyObject", lambda o: dev.copy_object(Bucket="eob", Key="c", CopySource="eob/k", ExpectedBucketOwner=o)),
    ("CopyObjectSource", lambda o: dev.copy_object(Bucket="eob", Key="c", CopySource="eob/k",
        ExpectedSourceBucketOwner=o)),
    ("DeleteObjects", lambda o: dev.delete_objects(Bucket="eob", Delete={"Objects": [{"Key": "w"}]},
        ExpectedBucketOwner=o)),
    ("DeleteObject", lambda o: dev.delete_object(Bucket="eob", Key="c", ExpectedBucketOwner=o)),
    ("DeleteBucket", lambda o: dev.delete_bucket(Bucket="eob-gone", ExpectedBucketOwner=o)),
]
for name, op in ops:
    out[name] = [err(lambda: op("999999999999")), err(lambda: op("not-an-account")), err(lambda: op("000000000001"))]
