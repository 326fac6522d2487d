# Publishes one file three times in the public-read bucket `pub`: SSE-S3
# (`s3.bin`), SSE-C (`c.bin`) and SSE-KMS with the ring's key k1
# (`kms.bin`). argv: endpoint, file. Prints {"ok": true}.
import base64, hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config

ep, path = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
data = open(path, "rb").read()
key = bytes(range(32))
s3.create_bucket(Bucket="pub")
s3.put_object(Bucket="pub", Key="s3.bin", Body=data, ACL="public-read", ServerSideEncryption="AES256")
s3.put_object(Bucket="pub", Key="c.bin", Body=data, ACL="public-read",
              SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(key).decode(),
              SSECustomerKeyMD5=base64.b64encode(hashlib.md5(key).digest()).decode())
s3.put_object(Bucket="pub", Key="kms.bin", Body=data, ACL="public-read",
              ServerSideEncryption="aws:kms", SSEKMSKeyId="k1")
print(json.dumps({"ok": True}))
