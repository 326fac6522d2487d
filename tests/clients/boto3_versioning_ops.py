import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
ep, op, *a = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
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
