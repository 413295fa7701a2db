'use strict';

require('./runner/suite')('RTCRtpSender-replaceTrack.https.html');
