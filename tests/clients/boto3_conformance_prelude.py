import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak, sk):
    cfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=cfg)
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
def grants(r):
    return [[g["Grantee"]["Type"], g["Grantee"].get("URI") or g["Grantee"].get("DisplayName"),
             g["Permission"]] for g in r["Grants"]]
out = {}
