# After tests/clients/boto3_prelude.py.
op, *a = sys.argv[2:]
s3 = dev
if op == "versioned-bucket":
    s3.create_bucket(Bucket=a[0])
    s3.put_bucket_versioning(Bucket=a[0], VersioningConfiguration={"Status": "Enabled"})
    out = {}
elif op == "bucket":
    s3.create_bucket(Bucket=a[0]); out = {}
elif op == "put":
    r = s3.put_object(Bucket=a[0], Key=a[1], Body=open(a[2], "rb").read(), ACL="public-read")
    out = {"version": r.get("VersionId")}
elif op == "delete-version":
    s3.delete_object(Bucket=a[0], Key=a[1], VersionId=a[2]); out = {}
print(json.dumps(out))
