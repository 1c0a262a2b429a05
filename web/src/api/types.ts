// Names for the API's schemas (generated from docs/openapi.json into schema.gen.ts).
import type { Schemas } from './client';

export type User = Schemas['User'];
export type Role = Schemas['Role'];
export type ApiKey = Schemas['ApiKey'];
export type Session = Schemas['Session'];
export type AuditEntry = Schemas['AuditEntry'];
export type FileInfo = Schemas['FileInfo'];
export type Model = Schemas['Model'];
export type ModelVersion = Schemas['ModelVersion'];
export type Transition = Schemas['Transition'];
export type VerifyReport = Schemas['VerifyReport'];
export type RegistryStats = Schemas['RegistryStats'];
export type SystemInfo = Schemas['SystemInfo'];
export type Readiness = Schemas['Readiness'];
export type TokenPair = Schemas['TokenPair'];
export type TensorSpec = Schemas['TensorSpec'];
export type Signature = Schemas['Signature'];
export type VersionMetadata = Schemas['VersionMetadata'];
export type NewModel = Schemas['NewModel'];
export type Stage = NonNullable<ModelVersion['stage']>;
export type Datatype = TensorSpec['datatype'];

export const STAGES: Stage[] = ['none', 'staging', 'production', 'archived'];
export const MODEL_TYPES: NonNullable<NewModel['model_type']>[] = [
  'classification', 'regression', 'clustering', 'generation', 'embedding', 'custom',
];
export const FRAMEWORKS: NonNullable<NewModel['framework']>[] = ['torch', 'torchscript', 'onnx', 'xgboost', 'kmeans', 'custom'];
export const DATATYPES: Datatype[] = [
  'BOOL', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'FP16', 'FP32', 'FP64', 'BYTES',
];

/** Permission strings (API.md "Permissions and built-in roles"). */
export type Permission =
  | 'models:read' | 'models:write' | 'models:deploy' | 'inference:predict' | 'training:read' | 'training:run'
  | 'datasets:read' | 'datasets:write' | 'files:read' | 'files:write' | 'queues:admin' | 'cache:admin'
  | 'users:admin' | 'audit:read' | 'system:admin';

export type Experiment = Schemas['Experiment'];
export type ExperimentRuns = Schemas['ExperimentRuns'];
export type RunComparison = Schemas['RunComparison'];
export type Sweep = Schemas['Sweep'];
export type SweepSpec = Schemas['SweepSpec'];
export type SweepTrial = NonNullable<Sweep['trials']>[number];
export type TrainingJob = Schemas['TrainingJob'];
