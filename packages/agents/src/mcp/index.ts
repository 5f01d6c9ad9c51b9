export { createTeamMcpServer, serveTeamOverStdio, type TeamMcpServer, type TeamMcpServerOptions } from './team-server.js';
