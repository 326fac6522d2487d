import sys, warnings
warnings.simplefilter("ignore")
import boto3
from botocore.config import Config
ep, ak, sk, *steps = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
for step in steps:
    op, *a = step.split("|")
    if op == "mb":
        s3.create_bucket(Bucket=a[0], ACL=a[1])
    elif op == "put":
        s3.put_object(Bucket=a[0], Key=a[1], Body=open(a[2], "rb").read(), ACL=a[3])
    elif op == "rm":
        s3.delete_object(Bucket=a[0], Key=a[1])
    elif op == "payer":
        s3.put_bucket_request_payment(Bucket=a[0], RequestPaymentConfiguration={"Payer": "Requester"})
    else:
        raise SystemExit("unknown op " + op)
print("ok")
