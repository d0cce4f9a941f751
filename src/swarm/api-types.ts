// The Docker Engine API shapes this project reads and writes (API 1.41+), only the fields it uses.
// Names follow the API (PascalCase) so objects go to the engine unchanged.

export type Labels = Record<string, string>;

export interface Version {
  Index: number;
}

export interface FileTarget {
  Name: string;
  UID: string;
  GID: string;
  Mode: number;
}

export interface SecretReference {
  File: FileTarget;
  SecretID: string;
  SecretName: string;
}
export interface ConfigReference {
  File: FileTarget;
  ConfigID: string;
  ConfigName: string;
}

export interface Mount {
  Type: 'volume' | 'bind' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  /** Labels the engine puts on a volume it creates for this mount (ownership, so delete finds it). */
  VolumeOptions?: { Labels?: Labels };
}

export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface ContainerSpec {
  Image: string;
  /** user[:group] the container runs as (overrides the image's USER). */
  User?: string;
  Labels?: Labels;
  Command?: string[];
  Args?: string[];
  Env?: string[];
  Mounts?: Mount[];
  StopGracePeriod?: number;
  Healthcheck?: HealthConfig;
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Isolation?: string;
}

export interface ResourceObject {
  NanoCPUs?: number;
  MemoryBytes?: number;
}

export interface Placement {
  Constraints?: string[];
  Preferences?: Array<{ Spread: { SpreadDescriptor: string } }>;
  MaxReplicas?: number;
  Platforms?: unknown[];
}

export interface NetworkAttachment {
  Target: string;
  Aliases?: string[];
}

export interface UpdateConfig {
  Parallelism: number;
  Delay?: number;
  FailureAction?: 'pause' | 'continue' | 'rollback';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface PortConfig {
  Protocol: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
  Name?: string;
}

export interface ServiceSpec {
  Name: string;
  Labels?: Labels;
  TaskTemplate: {
    ContainerSpec: ContainerSpec;
    Resources?: { Limits?: ResourceObject; Reservations?: ResourceObject };
    RestartPolicy?: { Condition?: 'none' | 'on-failure' | 'any'; Delay?: number; MaxAttempts?: number; Window?: number };
    Placement?: Placement;
    Networks?: NetworkAttachment[];
    ForceUpdate?: number;
    Runtime?: string;
  };
  Mode?: { Replicated?: { Replicas: number }; Global?: Record<string, never> };
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  EndpointSpec?: { Mode?: 'vip' | 'dnsrr'; Ports?: PortConfig[] };
}

export interface UpdateStatus {
  State?: 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface Service {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  UpdateStatus?: UpdateStatus;
  Endpoint?: { Ports?: PortConfig[] };
}

export interface SecretSpec {
  Name: string;
  Labels?: Labels;
  Data?: string;
}
export interface Secret {
  ID: string;
  Version: Version;
  CreatedAt: string;
  Spec: SecretSpec;
}

export interface ConfigSpec {
  Name: string;
  Labels?: Labels;
  Data?: string;
}
export interface Config {
  ID: string;
  Version: Version;
  CreatedAt: string;
  UpdatedAt?: string;
  Spec: ConfigSpec;
}

export interface NetworkCreate {
  Name: string;
  Driver: string;
  Internal?: boolean;
  Attachable?: boolean;
  Options?: Labels;
  Labels?: Labels;
  CheckDuplicate?: boolean;
}

export interface Network {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Internal: boolean;
  Attachable: boolean;
  Options?: Labels | null;
  Labels?: Labels | null;
}

export type TaskState =
  | 'new'
  | 'allocated'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'ready'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned';

export interface Task {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: TaskState;
  Status: { Timestamp: string; State: TaskState; Message?: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  Spec: { ContainerSpec?: { Image?: string; Secrets?: SecretReference[] } };
  CreatedAt: string;
  UpdatedAt: string;
}

export interface SwarmNode {
  ID: string;
  Description: { Hostname: string };
  Spec: { Role: 'manager' | 'worker'; Availability: string; Labels?: Labels };
  Status: { State: string; Addr?: string };
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  swarmActive: boolean;
  isManager: boolean;
  nodeId: string;
}

export interface Volume {
  Name: string;
  Driver: string;
  Labels?: Labels | null;
  Scope?: string;
}
