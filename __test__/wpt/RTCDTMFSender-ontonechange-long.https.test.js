'use strict';

require('./runner/suite')('RTCDTMFSender-ontonechange-long.https.html');
