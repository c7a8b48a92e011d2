/** Child process entry: the CommBox simulator (see services.ts). */
import { serve } from './rpc';
import { upstreamService } from './services';

serve(upstreamService());
