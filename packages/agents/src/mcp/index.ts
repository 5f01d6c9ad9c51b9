export { createTeamMcpServer, serveTeamOverStdio, type TeamMcpServer, type TeamMcpServerOptions } from './team-server.js';
export { McpClients, checkMcpServers, checkMcpSelection, type McpServerConfig, type McpToolSelection } from './client-tools.js';
