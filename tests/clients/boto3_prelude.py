# What every boto3 script here starts with; the Rust tests put it in front of
# the script (support::boto3_script!, support::serve::BOTO). argv[1] is the
# endpoint. `client(access, secret, **config)`: a path-style client that
# tries once (anonymous without keys); `dev`, `other` and `anon`: the
# development user, the other one and an anonymous requester; `err(f)`:
# `[status, code]` for an S3 error, None for success (a script wanting
# another shape defines its own); `out`: what the script prints as JSON.
import json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
ep = sys.argv[1]
DEV = ("s3torrent", "s3torrent-dev-secret")
def client(ak=None, sk=None, **config):
    cfg = dict(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, **config)
    if ak is None:
        return boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, **cfg))
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak,
                        aws_secret_access_key=sk, config=Config(**cfg))
dev = client(*DEV)
other = client("other", "other-secret")
anon = client()
def err(f):
    try:
        f()
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]]
out = {}
