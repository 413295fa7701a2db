'use strict';

require('./runner/suite')('RollbackEvents.https.html');
