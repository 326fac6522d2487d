import json, sys, os, warnings
warnings.simplefilter("ignore")
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError
GW, CL, AK, AS, BK, BS = sys.argv[1:7]
ARGS = sys.argv[7:]
# One attempt, no retry (botocore retries a 500 once even with max_attempts 1).
cfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
ucfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, signature_version=botocore.UNSIGNED)
def mk(ep, k=None, s=None):
    if k is None:
        return boto3.client("s3", endpoint_url=ep, region_name="us-east-1", config=ucfg)
    return boto3.client("s3", endpoint_url=ep, aws_access_key_id=k, aws_secret_access_key=s, region_name="us-east-1", config=cfg)
alice, bob, anon = mk(GW, AK, AS), mk(GW, BK, BS), mk(GW)
c_alice, c_bob, c_anon = mk(CL, AK, AS), mk(CL, BK, BS), mk(CL)
def torrent(client, bucket, key, version=None, payer=False, owner=None):
    kw = {}
    if payer: kw["RequestPayer"] = "requester"
    if owner: kw["ExpectedBucketOwner"] = owner
    hook = None
    if version is not None:
        def hook(request, **_):
            request.url += "&versionId=" + version
        client.meta.events.register("before-sign.s3.GetObjectTorrent", hook)
    try:
        r = client.get_object_torrent(Bucket=bucket, Key=key, **kw)
        return {"status": 200, "code": None, "hex": r["Body"].read().hex(),
                "headers": r["ResponseMetadata"]["HTTPHeaders"]}
    except ClientError as e:
        return {"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "code": e.response["Error"]["Code"], "hex": None,
                "headers": e.response["ResponseMetadata"]["HTTPHeaders"]}
    finally:
        if hook is not None:
            client.meta.events.unregister("before-sign.s3.GetObjectTorrent", hook)
def code(f):
    try:
        f(); return None
    except ClientError as e:
        return e.response["Error"]["Code"]
