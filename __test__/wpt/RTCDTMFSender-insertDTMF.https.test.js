'use strict';

require('./runner/suite')('RTCDTMFSender-insertDTMF.https.html');
