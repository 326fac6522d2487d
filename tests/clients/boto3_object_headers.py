import json, os, sys, warnings, datetime
warnings.simplefilter("ignore")
import boto3
from boto3.s3.transfer import TransferConfig
addr, work = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=addr, aws_access_key_id="s3torrent",
                  aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1")
s3.create_bucket(Bucket="meta")
extra = dict(Metadata={"color": "blue", "n": "42"}, CacheControl="no-cache",
             ContentDisposition='attachment; filename="x.bin"', ContentEncoding="identity",
             ContentLanguage="de", Expires=datetime.datetime(2031, 5, 6, 7, 8, 9))
s3.put_object(Bucket="meta", Key="small", Body=b"small", **extra)
path = os.path.join(work, "big.bin")
with open(path, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
s3.upload_file(path, "meta", "big", ExtraArgs=extra,
               Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                     multipart_chunksize=5 * 1024 * 1024))
s3.put_object(Bucket="meta", Key="plain", Body=b"plain")
out = {}
for key in ["small", "big", "plain"]:
    h = s3.head_object(Bucket="meta", Key=key)
    g = s3.get_object(Bucket="meta", Key=key)
    assert g["Metadata"] == h["Metadata"], (g["Metadata"], h["Metadata"])
    out[key] = {"metadata": h["Metadata"], "type": h.get("ContentType"),
                "cache": h.get("CacheControl"), "disposition": h.get("ContentDisposition"),
                "encoding": h.get("ContentEncoding"), "language": h.get("ContentLanguage"),
                "expires": h["Expires"].isoformat() if h.get("Expires") else None,
                "etag_parts": h["ETag"].strip('"').partition("-")[2]}
print(json.dumps(out))
