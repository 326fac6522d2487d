import hashlib, os, sys, threading, warnings
warnings.simplefilter("ignore")
import boto3
from boto3.s3.transfer import TransferConfig
from s3transfer.exceptions import S3DownloadFailedError
addr, work = sys.argv[1], sys.argv[2]
def client():
    return boto3.client("s3", endpoint_url=addr, aws_access_key_id="s3torrent",
                        aws_secret_access_key="s3torrent-dev-secret", region_name="us-east-1")
s3 = client()
s3.create_bucket(Bucket="race")
size = 3 * 1024 * 1024
versions = [bytes([i]) * size for i in range(1, 4)]
versions = [v[: size - i * 4096] for i, v in enumerate(versions)]
digests = {hashlib.md5(v).hexdigest() for v in versions}
s3.put_object(Bucket="race", Key="k", Body=versions[0])
stop = threading.Event()
writes = [0]
def writer():
    w = client()
    n = 0
    while not stop.is_set():
        n += 1
        w.put_object(Bucket="race", Key="k", Body=versions[n % len(versions)])
        writes[0] += 1
t = threading.Thread(target=writer, daemon=True)
t.start()
config = TransferConfig(multipart_threshold=1024 * 1024, multipart_chunksize=1024 * 1024,
                        max_concurrency=4)
whole, refused, mixed = 0, 0, 0
i = 0
while (i < 30 or writes[0] < 10) and i < 400:
    i += 1
    path = os.path.join(work, f"d{i}")
    try:
        s3.download_file("race", "k", path, Config=config)
    except S3DownloadFailedError as e:
        # A part's If-Match failed: the object changed under the download.
        assert "did not match expected ETag" in str(e), e
        refused += 1
        continue
    except BaseException:
        stop.set()
        raise
    with open(path, "rb") as f:
        got = hashlib.md5(f.read()).hexdigest()
    if got in digests:
        whole += 1
    else:
        mixed += 1
    os.remove(path)
stop.set()
t.join()
print(f"{whole} {refused} {mixed} {writes[0]}")
