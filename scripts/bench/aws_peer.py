"""Peer side of scripts/bench/30-aws.sh: botocore's signer and boto3 transfers, timed like aws-bench."""
import datetime, json, os, sys, time

def sign(count):
    import botocore.auth as auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    fixed = datetime.datetime(2026, 11, 29, 5, 0, 0, tzinfo=datetime.timezone.utc)
    auth.get_current_datetime = lambda: fixed
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    s3 = auth.S3SigV4Auth(creds, "s3", "eu-north-1")
    batch = auth.SigV4Auth(creds, "batch", "eu-north-1")
    body = json.dumps({"jobName": "run-0001", "jobQueue": "odin-spot", "jobDefinition": "munin-worker:3",
                       "arrayProperties": {"size": 250},
                       "containerOverrides": {"environment": [{"name": "RUN_ID", "value": "run-0001"}]}},
                      separators=(",", ":")).encode()

    def s3_get():
        request = AWSRequest(method="GET", url="https://odin-raw.s3.eu-north-1.amazonaws.com/raw/cam-01/IMG_0001.JPG",
                             headers={"Range": "bytes=0-65535"})
        s3.add_auth(request)

    def submit():
        request = AWSRequest(method="POST", url="https://batch.eu-north-1.amazonaws.com/v1/submitjob",
                             headers={"Content-Type": "application/json"}, data=body)
        batch.add_auth(request)

    def measure(fn):
        for _ in range(min(1000, count)):
            fn()
        start = time.perf_counter()
        for _ in range(count):
            fn()
        return count / (time.perf_counter() - start)

    print(json.dumps({"s3_get_per_s": measure(s3_get), "submit_job_per_s": measure(submit)}))

def s3(endpoint, directory):
    import boto3
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    bucket = f"bench-boto3-{os.getpid()}"
    client.create_bucket(Bucket=bucket)
    keys = [f"small/obj-{i}.bin" for i in range(200)]
    start = time.perf_counter()
    for key in keys:
        with open(os.path.join(directory, key), "rb") as body:
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/octet-stream")
    upload_small = time.perf_counter() - start
    os.makedirs(os.path.join(directory, "down-boto3", "small"), exist_ok=True)
    start = time.perf_counter()
    for key in keys:
        client.download_file(bucket, key, os.path.join(directory, "down-boto3", key))
    download_small = time.perf_counter() - start
    start = time.perf_counter()
    client.upload_file(os.path.join(directory, "big.bin"), bucket, "big.bin")
    upload_big = time.perf_counter() - start
    start = time.perf_counter()
    client.download_file(bucket, "big.bin", os.path.join(directory, "down-boto3", "big.bin"))
    download_big = time.perf_counter() - start
    print(json.dumps({"upload_small_s": upload_small, "download_small_s": download_small,
                      "upload_big_s": upload_big, "download_big_s": download_big}))

if __name__ == "__main__":
    if sys.argv[1] == "sign":
        sign(int(sys.argv[2]))
    else:
        s3(sys.argv[2], sys.argv[3])
