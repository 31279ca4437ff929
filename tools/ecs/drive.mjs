// Drives the local cloud's ECS service deployment API with AWS's
// JavaScript SDK v3 client (@aws-sdk/client-ecs, pinned in package.json),
// an implementation of the ECS model independent of aws-sdk-go-v2. Its
// deserializers read every member by the model's shape (timestamps into
// Dates, numbers, enums as strings); the script prints what it read, and
// internal/local/localcloud/ecs/jsclient_test.go checks it.
//
// Usage: node drive.mjs <endpoint>
import {
  ECSClient, CreateClusterCommand, RegisterTaskDefinitionCommand, CreateServiceCommand,
  UpdateServiceCommand, ListServiceDeploymentsCommand, DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand, StopServiceDeploymentCommand, ContinueServiceDeploymentCommand,
  ServiceDeploymentNotFoundException,
} from "@aws-sdk/client-ecs";

const client = new ECSClient({
  endpoint: process.argv[2], region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
});
const out = {};
const isDate = (v) => v instanceof Date && !Number.isNaN(v.getTime());

await client.send(new CreateClusterCommand({ clusterName: "default" }));
const containers = (image) => [{ name: "app", image, memory: 128 }];
await client.send(new RegisterTaskDefinitionCommand({ family: "web", containerDefinitions: containers("repo/web@sha256:good") }));
await client.send(new CreateServiceCommand({
  serviceName: "web", taskDefinition: "web:1", desiredCount: 2,
  deploymentConfiguration: {
    strategy: "BLUE_GREEN", bakeTimeInMinutes: 5,
    deploymentCircuitBreaker: { enable: true, rollback: true },
  },
}));
await client.send(new RegisterTaskDefinitionCommand({ family: "web", containerDefinitions: containers("repo/web@sha256:next") }));
const up = await client.send(new UpdateServiceCommand({ service: "web", taskDefinition: "web:2" }));
const arn = up.service.currentServiceDeployment;
out.strategy = up.service.deploymentConfiguration.strategy;
out.currentServiceRevisions = up.service.currentServiceRevisions.length;

const list = await client.send(new ListServiceDeploymentsCommand({ service: "web" }));
out.listed = list.serviceDeployments.map((b) => b.status);
out.listedDates = list.serviceDeployments.every((b) => isDate(b.createdAt));

const desc = await client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn, arn + "x"] }));
const sd = desc.serviceDeployments[0];
out.described = {
  status: sd.status, stage: sd.lifecycleStage, strategy: sd.deploymentConfiguration.strategy,
  dates: isDate(sd.createdAt) && isDate(sd.startedAt) && isDate(sd.updatedAt),
  targetWeight: sd.targetServiceRevision.requestedProductionTrafficWeight,
  sourceWeight: sd.sourceServiceRevisions[0].requestedProductionTrafficWeight,
  breaker: sd.deploymentCircuitBreaker, alarms: sd.alarms.status,
  failures: desc.failures.map((f) => f.reason),
};

const revs = await client.send(new DescribeServiceRevisionsCommand({
  serviceRevisionArns: [sd.targetServiceRevision.arn, sd.sourceServiceRevisions[0].arn],
}));
out.revisions = revs.serviceRevisions.map((r) => ({
  taskDefinition: r.taskDefinition.split("/").pop(), digest: r.containerImages[0].imageDigest, dated: isDate(r.createdAt),
}));

const stop = await client.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" }));
out.stopped = stop.serviceDeploymentArn === arn;
const after = await client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
const rb = after.serviceDeployments[0];
out.afterStop = { status: rb.status, rollbackDated: isDate(rb.rollback.startedAt), rollbackReason: rb.rollback.reason };

try {
  await client.send(new ContinueServiceDeploymentCommand({ serviceDeploymentArn: arn, hookId: "h", action: "CONTINUE" }));
  out.continued = "answered";
} catch (e) {
  out.continued = e.name;
}
try {
  await client.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn + "x", stopType: "ROLLBACK" }));
  out.stopMissing = "answered";
} catch (e) {
  out.stopMissing = e instanceof ServiceDeploymentNotFoundException ? "ServiceDeploymentNotFoundException" : e.name;
}
console.log(JSON.stringify(out));
