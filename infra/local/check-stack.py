"""Round-trip checks against a running local stack (run by `infra/local/stack.sh check`).

Uses the boto3 that moto brings into .venv, with the environment printed by
`stack.sh env`: one call per emulated service ci-fleet uses, and a CloudWatch
PutMetricData -> GetMetricData round trip through ministack in each wire protocol
(smithy-rpc-v2-cbor is what the Rust aws-sdk-cloudwatch speaks; botocore itself
prefers awsJson1_0, so the CBOR run forces it).
"""

import datetime
import os
import sys
import uuid

import boto3
import botocore.model

failures = []


def check(name, fn):
    try:
        detail = fn()
        print(f"ok    {name}{': ' + detail if detail else ''}")
    except Exception as e:  # noqa: BLE001 - report every failure, keep going
        failures.append(name)
        print(f"FAIL  {name}: {type(e).__name__}: {e}")


def client(service, **kw):
    return boto3.client(service, region_name=os.environ["AWS_REGION"], **kw)


def moto_ec2():
    ec2 = client("ec2")
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    r = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    iid = r["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[iid])
    return iid


def moto_autoscaling():
    asg = client("autoscaling")
    ec2 = client("ec2")
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    name = f"check-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(LaunchTemplateName=name,
                               LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=2, DesiredCapacity=1,
                                  LaunchTemplate={"LaunchTemplateName": name},
                                  AvailabilityZones=[f"{os.environ['AWS_REGION']}a"])
    ids = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]
    asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=ids, ProtectedFromScaleIn=True)
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    return f"{name} with {ids}"


def moto_s3():
    s3 = client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}))
    bucket = f"check-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    return bucket


def moto_secretsmanager():
    sm = client("secretsmanager")
    name = f"check-{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString='{"user":"u","token":"t"}')
    assert sm.get_secret_value(SecretId=name)["SecretString"].startswith("{")
    return name


def moto_events():
    ev = client("events")
    ev.put_events(Entries=[{"Source": "ci-fleet.check", "DetailType": "check", "Detail": "{}"}])
    return None


def cloudwatch_roundtrip(protocol):
    def run():
        saved = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = (protocol,)
        try:
            cw = client("cloudwatch")
            assert cw.meta.service_model.resolved_protocol == protocol
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = saved
        pool = f"check-{protocol}-{uuid.uuid4().hex[:6]}"
        dims = [{"Name": "Pool", "Value": pool}]
        now = datetime.datetime.now(datetime.timezone.utc)
        cw.put_metric_data(Namespace="CIFleet", MetricData=[
            {"MetricName": "QueuedBuilds", "Dimensions": dims, "Value": 7.0, "Unit": "Count", "Timestamp": now}])
        r = cw.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {
                "Metric": {"Namespace": "CIFleet", "MetricName": "QueuedBuilds", "Dimensions": dims},
                "Period": 60, "Stat": "Maximum"}}],
            StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5))
        values = r["MetricDataResults"][0]["Values"]
        assert values == [7.0], f"GetMetricData returned {values}, expected [7.0]"
        return f"endpoint {cw.meta.endpoint_url}, Values {values}"
    return run


for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_REGION"):
    if not os.environ.get(var):
        sys.exit(f"check-stack: {var} is not set; run via `infra/local/stack.sh check`")

check("moto ec2 RunInstances", moto_ec2)
check("moto autoscaling CreateAutoScalingGroup/SetInstanceProtection", moto_autoscaling)
check("moto s3 PutObject/GetObject (path style)", moto_s3)
check("moto secretsmanager CreateSecret/GetSecretValue", moto_secretsmanager)
check("moto events PutEvents", moto_events)
for proto in ("smithy-rpc-v2-cbor", "json", "query"):
    check(f"ministack cloudwatch PutMetricData->GetMetricData ({proto})", cloudwatch_roundtrip(proto))

if failures:
    print(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    sys.exit(1)
print("all checks passed")
