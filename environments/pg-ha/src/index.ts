// @resilience/pg-ha: PostgreSQL (15 on bookworm, 17 on trixie) under Patroni with etcd and HAProxy, as typed handles.
export { provision, restoreNodes, ENVIRONMENT, ENVIRONMENT_LABEL, type ProvisionOptions, type RestoreNodesOptions } from './provision.ts';
export {
  BACKUP_PATHS, STANZA, PGBACKREST_PORT, BackupRepo, generateTls, startBackupRepo, renderNodeBackupConfig, renderRepoBackupConfig, renderRestoreScript, archiveParameters, checkArchiveConfig, checkRestoreBootstrap,
  type ArchiveConfig, type TlsBundle, type RestoreBootstrap, type PgBackRestInfo,
} from './backup.ts';
export { PgHa, NoLeaderError, unhealthyReason, bareAddress, type Member, type PgNode, type Promotion, type WaitOptions, type WaitHealthyOptions, type PgHaDescription } from './pg-ha.ts';
export { parseOptions, DEFAULTS, TIMING_DEFAULTS, HAPROXY_CHECKS, type PgHaOptionsInput, type PgHaSettings } from './options.ts';
export { PORTS, ROLES, topology, type Topology, type NodeName } from './topology.ts';
export { renderPatroniConfig, renderHaproxyConfig, renderPostBootstrap, renderSecretsFile, etcdCommand, etcdctlCommand, writeAndExec, PATHS, SECRETS_FILE, RECOVERY_SETTINGS, type BackupExtras } from './config.ts';
export { fetchCluster, parseCluster, PatroniUnreachableError, type ClusterMember, type MemberRole } from './patroni-api.ts';
export { redact, APP_DATABASE, type Credential, type Credentials } from './secrets.ts';
export { queryOnce } from './sql.ts';
export { IMAGE_NAMES, DEFAULT_IMAGE, INFRA_IMAGES, PG_IMAGES, type ImageName, type PgImageProfile, type PatroniTimings } from './image.ts';
