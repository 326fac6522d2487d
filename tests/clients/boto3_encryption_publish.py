# Publishes one file three times in the public-read bucket `pub`: SSE-S3
# (`s3.bin`), SSE-C (`c.bin`) and SSE-KMS with the ring's key k1
# (`kms.bin`). argv: endpoint, file. Prints {"ok": true}.
# After tests/clients/boto3_prelude.py.
import base64, hashlib

path = sys.argv[2]
s3 = dev
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
