'use strict';

require('./runner/suite')('RTCDTMFSender-ontonechange.https.html');
