import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
def client(ak=None, sk=None):
    cfg = dict(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    if ak is None:
        return boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, **cfg))
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=Config(**cfg))
dev = client("s3torrent", "s3torrent-dev-secret")
other = client("other", "other-secret")
anon = client()
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
out = {}
