# A scenario's steps: runs after tests/clients/boto3_gateway_prelude.py (tests/support/ceph.rs, scenario).
c_alice.create_bucket(Bucket="lim-b")
c_alice.put_object(Bucket="lim-b", Key="small", Body=b"x" * 1000, ACL="public-read")
c_alice.put_object(Bucket="lim-b", Key="large", Body=b"x" * 1001, ACL="public-read")
c_alice.put_object(Bucket="lim-b", Key="empty", Body=b"", ACL="public-read")
key = b"k" * 32
c_alice.put_object(Bucket="lim-b", Key="ssec", Body=b"secret", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
c_alice.create_bucket(Bucket="lim-rp")
c_alice.put_object(Bucket="lim-rp", Key="o", Body=b"pays", ACL="public-read")
c_alice.put_bucket_request_payment(Bucket="lim-rp", RequestPaymentConfiguration={"Payer": "Requester"})
out = {
  "small": torrent(anon, "lim-b", "small"),
  "large": torrent(anon, "lim-b", "large"),
  "empty": torrent(anon, "lim-b", "empty"),
  "ssec": torrent(alice, "lim-b", "ssec"),
  "rp_bob_without": torrent(bob, "lim-rp", "o"),
  "rp_bob_with": torrent(bob, "lim-rp", "o", payer=True),
  "rp_anon": torrent(anon, "lim-rp", "o"),
  "rp_owner": torrent(alice, "lim-rp", "o"),
  "owner_right": torrent(bob, "lim-rp", "o", payer=True, owner=ARGS[0]),
  "owner_wrong": torrent(bob, "lim-rp", "o", payer=True, owner=ARGS[1]),
  "owner_malformed": torrent(anon, "lim-b", "small", owner="alice"),
  "direct_owner_wrong": code(lambda: c_alice.head_object(Bucket="lim-b", Key="small", ExpectedBucketOwner=ARGS[1])),
}
print(json.dumps(out))
