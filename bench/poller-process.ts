/** Child process entry: the poller under test, alone in its process as in the Lambda (see services.ts). */
import { serve } from './rpc';
import { pollerService } from './services';

serve(pollerService());
